/** The public requestor API (named exports only). */
export * from "./errors.js";
