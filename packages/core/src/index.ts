export type { Brand } from './Brand.js';
export { isMdlError, MdlError, MdlErrorCode } from './MdlError.js';
