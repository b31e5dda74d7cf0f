// The error a call throws (undefined if it returns): shared by the suites that check typed errors.
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  return undefined;
}
