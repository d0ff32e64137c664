export type { Brand } from './Brand.js';
export {
  categoryMask,
  DataCategory,
  isDataCategory,
  isRecordCategory,
  type RecordCategory,
  UNCATEGORISED,
} from './DataCategory.js';
export { isMdlError, MdlError, MdlErrorCode, type MdlIssue } from './MdlError.js';
