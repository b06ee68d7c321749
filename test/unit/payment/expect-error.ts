import { expect } from "vitest";

/** Run `fn`, expect it to throw an instance of `cls` with exactly `message`, and return the error. */
export function expectError<E extends Error>(
  fn: () => unknown,
  cls: abstract new (...args: never[]) => E,
  message: string | RegExp,
): E {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(cls);
  const err = caught as E;
  if (typeof message === "string") expect(err.message).toBe(message);
  else expect(err.message).toMatch(message);
  return err;
}
