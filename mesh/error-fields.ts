/**
 * Fields of a thrown value that code decides on (`status` of a RegistryError or an HTTP error,
 * `code` of a Node or registry error), read without assuming what was thrown.
 */
export function errorStatus(e: unknown): number | undefined {
  const v: unknown = e instanceof Object ? Reflect.get(e, 'status') : undefined;
  return typeof v === 'number' ? v : undefined;
}

export function errorCode(e: unknown): string | undefined {
  const v: unknown = e instanceof Object ? Reflect.get(e, 'code') : undefined;
  return typeof v === 'string' ? v : undefined;
}

/** Lets a Node timer not keep the process alive; a browser's numeric timer id has nothing to undo. */
export function unrefTimer(timer: unknown): void {
  const unref: unknown = timer instanceof Object ? Reflect.get(timer, 'unref') : undefined;
  if (typeof unref === 'function') unref.call(timer);
}
