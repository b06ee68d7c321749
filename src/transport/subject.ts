/** NATS subject rules, shared by both buses so they refuse and match the same subjects. */
import { InvalidSubjectError } from "./errors.js";

const BAD_CHARS = /[\s\0]/;

/** Throw `InvalidSubjectError` unless `subject` is valid to publish to (no wildcards). */
export function assertPublishSubject(subject: string): void {
  assertTokens(subject, false);
}

/** Throw `InvalidSubjectError` unless `subject` is valid to subscribe to (`*` tokens, final `>`). */
export function assertSubscribeSubject(subject: string): void {
  assertTokens(subject, true);
}

function assertTokens(subject: string, wildcards: boolean): void {
  if (subject.length === 0) throw new InvalidSubjectError(subject, "empty");
  if (BAD_CHARS.test(subject)) throw new InvalidSubjectError(subject, "contains whitespace");
  const tokens = subject.split(".");
  tokens.forEach((token, i) => {
    if (token.length === 0) throw new InvalidSubjectError(subject, "empty token");
    if (token === "*" || token === ">") {
      if (!wildcards) throw new InvalidSubjectError(subject, "wildcards are only for subscriptions");
      if (token === ">" && i !== tokens.length - 1) {
        throw new InvalidSubjectError(subject, "`>` must be the last token");
      }
    }
  });
}

/** Does the (validated) `pattern` match the literal `subject`, with NATS wildcard semantics? */
export function subjectMatches(pattern: string, subject: string): boolean {
  if (pattern === subject) return true;
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === ">") return s.length > i;
    if (i >= s.length) return false;
    if (token !== "*" && token !== s[i]) return false;
  }
  return p.length === s.length;
}
