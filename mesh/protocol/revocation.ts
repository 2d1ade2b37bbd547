import { z } from 'zod';

/**
 * The revocation contract (docs/trust.md "Revocation"): how the registry tells a peer that its
 * credential was revoked (its API key deleted, or its paired device revoked), on each channel it
 * may be using. One definition, read by the registry that sends it and the tab and sidecar that
 * react to it.
 *
 * - REST: HTTP 401 with `RevokedBody` (`{"error": "<readable text>", "code": "revoked"}`).
 * - `/ws`: an `error` frame with payload `{code: "revoked", message}`, then close code
 *   `REVOKED_CLOSE_CODE` (4003) with a reason starting with `REVOKED_CLOSE_REASON` ("revoked").
 * - SSE (`GET /api/events`): an `event: revoked` (`REVOKED_SSE_EVENT`) whose data line is a
 *   `RevokedNotice` JSON, then the stream ends.
 */
export const REVOKED = 'revoked' as const;
export const REVOKED_CLOSE_CODE = 4003;
export const REVOKED_CLOSE_REASON = 'revoked';
export const REVOKED_SSE_EVENT = 'revoked';
/** The error text of tasks the registry failed because their peer was revoked (followed by details). */
export const REVOKED_TASK_ERROR = 'peer revoked';

export const RevokedBody = z.object({ error: z.string().max(1024), code: z.literal(REVOKED) });
export type RevokedBody = z.infer<typeof RevokedBody>;
export const RevokedNotice = z.object({ code: z.literal(REVOKED), message: z.string().max(1024) });
export type RevokedNotice = z.infer<typeof RevokedNotice>;

/** True for a REST error body that says the caller's credential was revoked. */
export function isRevokedBody(body: unknown): body is RevokedBody {
  return RevokedBody.safeParse(body).success;
}

/** True for a `/ws` close that means "revoked: do not reconnect with this credential". */
export function isRevokedClose(code: number, reason: string): boolean {
  return code === REVOKED_CLOSE_CODE && reason.startsWith(REVOKED_CLOSE_REASON);
}
