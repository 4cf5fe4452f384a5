// Kept in step with package.json's version (checked by test/main/version.test.ts).
export const APP_VERSION = '0.1.0';
