export type { Brand } from './Brand.js';
export { categoryMask, DataCategory, isDataCategory } from './DataCategory.js';
export { isMdlError, MdlError, MdlErrorCode } from './MdlError.js';
