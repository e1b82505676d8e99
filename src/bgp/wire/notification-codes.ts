/**
 * NOTIFICATION error codes and subcodes as named enums (RFC 4271 4.5 and 6, RFC 5492, RFC 4486,
 * RFC 6608, RFC 7313, RFC 8538), with their human names so logs and `node status` say what happened.
 */

export enum ErrorCode {
  MessageHeader = 1,
  OpenMessage = 2,
  UpdateMessage = 3,
  HoldTimerExpired = 4,
  FiniteStateMachine = 5,
  Cease = 6,
  RouteRefreshMessage = 7,
}

export enum MessageHeaderSubcode {
  ConnectionNotSynchronized = 1,
  BadMessageLength = 2,
  BadMessageType = 3,
}

export enum OpenMessageSubcode {
  Unspecific = 0,
  UnsupportedVersionNumber = 1,
  BadPeerAs = 2,
  BadBgpIdentifier = 3,
  UnsupportedOptionalParameter = 4,
  /** Subcode 5 (authentication failure) is deprecated by RFC 4271. */
  UnacceptableHoldTime = 6,
  UnsupportedCapability = 7,
}

export enum UpdateMessageSubcode {
  Unspecific = 0,
  MalformedAttributeList = 1,
  UnrecognizedWellKnownAttribute = 2,
  MissingWellKnownAttribute = 3,
  AttributeFlagsError = 4,
  AttributeLengthError = 5,
  InvalidOriginAttribute = 6,
  /** Subcode 7 (AS routing loop) is deprecated by RFC 4271. */
  InvalidNextHopAttribute = 8,
  OptionalAttributeError = 9,
  InvalidNetworkField = 10,
  MalformedAsPath = 11,
}

/** RFC 6608. */
export enum FsmErrorSubcode {
  Unspecified = 0,
  UnexpectedMessageInOpenSent = 1,
  UnexpectedMessageInOpenConfirm = 2,
  UnexpectedMessageInEstablished = 3,
}

/** RFC 4486, plus Hard Reset from RFC 8538. */
export enum CeaseSubcode {
  Unspecific = 0,
  MaximumNumberOfPrefixesReached = 1,
  AdministrativeShutdown = 2,
  PeerDeconfigured = 3,
  AdministrativeReset = 4,
  ConnectionRejected = 5,
  OtherConfigurationChange = 6,
  ConnectionCollisionResolution = 7,
  OutOfResources = 8,
  HardReset = 9,
}

/** RFC 7313 5. */
export enum RouteRefreshSubcode {
  InvalidMessageLength = 1,
}

const CODE_NAMES: Readonly<Record<ErrorCode, string>> = {
  [ErrorCode.MessageHeader]: 'Message Header Error',
  [ErrorCode.OpenMessage]: 'OPEN Message Error',
  [ErrorCode.UpdateMessage]: 'UPDATE Message Error',
  [ErrorCode.HoldTimerExpired]: 'Hold Timer Expired',
  [ErrorCode.FiniteStateMachine]: 'Finite State Machine Error',
  [ErrorCode.Cease]: 'Cease',
  [ErrorCode.RouteRefreshMessage]: 'ROUTE-REFRESH Message Error',
};

const SUBCODE_ENUMS: Readonly<Partial<Record<ErrorCode, Record<number, string>>>> = {
  [ErrorCode.MessageHeader]: MessageHeaderSubcode,
  [ErrorCode.OpenMessage]: OpenMessageSubcode,
  [ErrorCode.UpdateMessage]: UpdateMessageSubcode,
  [ErrorCode.FiniteStateMachine]: FsmErrorSubcode,
  [ErrorCode.Cease]: CeaseSubcode,
  [ErrorCode.RouteRefreshMessage]: RouteRefreshSubcode,
};

/** "Cease / AdministrativeShutdown", or the numbers when the code is not one we know. */
export function describeNotification(code: number, subcode: number): string {
  const codeName = (CODE_NAMES as Record<number, string | undefined>)[code] ?? `error code ${code}`;
  const names = (SUBCODE_ENUMS as Record<number, Record<number, string> | undefined>)[code];
  const subName = names?.[subcode];
  if (subName !== undefined) return `${codeName} / ${subName}`;
  return subcode === 0 ? codeName : `${codeName} / subcode ${subcode}`;
}
