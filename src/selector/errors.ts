/**
 * The one error the selector language throws. It quotes the selector and names the offset so a
 * user sees both what they wrote and where it went wrong; callers that validate resources read
 * `position` and `reason` to build their own field-level message.
 */
export class SelectorParseError extends Error {
  constructor(
    readonly selector: string,
    /** 0-based offset of the offending character, `selector.length` for an unexpected end. */
    readonly position: number,
    readonly reason: string,
  ) {
    super(`invalid selector ${JSON.stringify(selector)} at position ${position}: ${reason}`);
    this.name = 'SelectorParseError';
  }
}
