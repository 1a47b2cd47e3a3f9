// Types of bin/prebuilt.js (plain JavaScript: bin/pki.js runs it before any loader), for scripts/build-cli.ts.
export declare const BUNDLE_DIR: string;
export declare const STAMP_FILE: string;
export declare const STAMPED: readonly string[];
export declare function sourceFingerprint(root: string): string;
export declare function prebuiltMain(root: string, env?: NodeJS.ProcessEnv): { main: string | null; reason: string };
