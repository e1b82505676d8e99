// Public face of the selector language and label index (issue 4). Filled in by that work.
export {};
