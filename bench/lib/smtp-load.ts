/**
 * The SMTP load generator lives in src/loadgen/smtp.ts (`postline bench smtp`
 * uses it too); this re-export keeps bench modules' import path.
 */
export { runSmtpLoad, type SmtpLoadOptions, type SmtpLoadResult } from '../../src/loadgen/smtp.js';
