// Public face of the BGP wire codec: messages in and out of bytes, the framer, the error the
// decoder throws, and the RFC numbers as named enums.
export {
  AS_TRANS,
  Afi,
  AttrFlag,
  AttrType,
  BGP_VERSION,
  CapabilityCode,
  HEADER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  Safi,
} from './constants.js';
export {
  CeaseSubcode,
  ErrorCode,
  FsmErrorSubcode,
  MessageHeaderSubcode,
  OpenMessageSubcode,
  RouteRefreshSubcode,
  UpdateMessageSubcode,
  describeNotification,
} from './notification-codes.js';
export { BgpProtocolError, type NotificationFields } from './errors.js';
export { DEFAULT_CONTEXT, type CodecContext } from './context.js';
export { canonicalIPv6, formatPrefix } from './address.js';
export { formatAsPath, mergeAs4Path } from './as-path.js';
export {
  formatCapability,
  type AfiSafi,
  type Capability,
  type GracefulRestartFamily,
} from './capabilities.js';
export { myAsField, openPeerAs, type OpenMessage } from './open.js';
export { formatPathAttributes, type MalformedAction } from './attributes.js';
export {
  familyOfAfiSafi,
  type AnnouncedRoutes,
  type AttributeErrorReport,
  type Rfc7606Action,
  type UpdateMessage,
} from './update.js';
export { encodeEndOfRib, encodeUpdate, encodeUpdates, encodeWithdrawals } from './update-encode.js';
export {
  decodeMessage,
  describeNotificationMessage,
  encodeMessage,
  type BgpMessage,
  type KeepaliveMessage,
  type NotificationMessage,
  type RouteRefreshMessage,
} from './message.js';
export { MessageFramer } from './framer.js';
