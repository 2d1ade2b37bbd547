/** Why a send failed: no open link, the link went down before delivery, or too much waits already. */
export class LinkError extends Error {
  constructor(
    readonly code: 'not_connected' | 'link_lost' | 'queue_full',
    message: string,
  ) {
    super(message);
    this.name = 'LinkError';
  }
}
