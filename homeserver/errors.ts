/**
 * The one error type of the server. Thrown anywhere, rendered as the Matrix error JSON
 * `{errcode, error, ...extra}` by the error middleware (http/middleware/errors.ts).
 */
export class MatrixError extends Error {
  readonly status: number;
  readonly errcode: string;
  readonly extra: Record<string, unknown>;
  /** Response headers that belong to this error (e.g. Retry-After). */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    errcode: string,
    message: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'MatrixError';
    this.status = status;
    this.errcode = errcode;
    this.extra = extra;
    this.headers = headers;
  }

  /** A user-interactive-auth challenge is a 401 whose body is only the flows (no errcode). */
  toJSON(): Record<string, unknown> {
    if (this.errcode === '') return { ...this.extra };
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

/** Shorthands for the errors every layer raises, so codes and statuses never drift apart. */
export const errors = {
  notJson: (msg = 'Content not JSON.') => new MatrixError(400, 'M_NOT_JSON', msg),
  badJson: (msg: string) => new MatrixError(400, 'M_BAD_JSON', msg),
  missingParam: (msg: string) => new MatrixError(400, 'M_MISSING_PARAM', msg),
  invalidParam: (msg: string) => new MatrixError(400, 'M_INVALID_PARAM', msg),
  tooLarge: (msg = 'Request body too large.') => new MatrixError(413, 'M_TOO_LARGE', msg),
  unrecognized: (status: 404 | 405, msg = 'Unrecognized request') =>
    new MatrixError(status, 'M_UNRECOGNIZED', msg),
  notFound: (msg: string) => new MatrixError(404, 'M_NOT_FOUND', msg),
  forbidden: (msg: string) => new MatrixError(403, 'M_FORBIDDEN', msg),
  /** Media repository: a second upload to an async mxc:// id, a download that waited in vain,
   * content that cannot be thumbnailed, a Range past the end of the file. */
  cannotOverwriteMedia: () => new MatrixError(409, 'M_CANNOT_OVERWRITE_MEDIA', 'Media already uploaded.'),
  notYetUploaded: () => new MatrixError(504, 'M_NOT_YET_UPLOADED', 'Content has not yet been uploaded.'),
  cannotThumbnail: (msg = 'Cannot generate thumbnails for the requested content.') => new MatrixError(400, 'M_UNKNOWN', msg),
  rangeNotSatisfiable: (size: number) =>
    new MatrixError(416, 'M_UNKNOWN', 'Requested range not satisfiable.', {}, { 'Content-Range': `bytes */${size}` }),
  missingToken: () => new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token.'),
  unknownToken: (softLogout = false) =>
    new MatrixError(
      401,
      'M_UNKNOWN_TOKEN',
      softLogout ? 'Access token has expired.' : 'Unrecognised access token.',
      { soft_logout: softLogout },
    ),
  limitExceeded: (retryAfterMs: number) =>
    new MatrixError(
      429,
      'M_LIMIT_EXCEEDED',
      'Too many requests.',
      { retry_after_ms: retryAfterMs },
      { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
    ),
  userInUse: () => new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken.'),
  invalidUsername: (msg: string) => new MatrixError(400, 'M_INVALID_USERNAME', msg),
  weakPassword: (msg: string) => new MatrixError(400, 'M_WEAK_PASSWORD', msg),
  userDeactivated: () =>
    new MatrixError(403, 'M_USER_DEACTIVATED', 'This account has been deactivated.'),
  /** The UIA 401: which flows exist and what the session has completed so far. */
  authRequired: (body: Record<string, unknown>, failure?: { errcode: string; error: string }) =>
    failure
      ? new MatrixError(401, failure.errcode, failure.error, body)
      : new MatrixError(401, '', 'Authentication required', body),
  unknownLoginType: (type: string) => new MatrixError(400, 'M_UNKNOWN', `Unknown login type ${type}.`),
  unknown: (msg = 'Internal server error') => new MatrixError(500, 'M_UNKNOWN', msg),
} as const;
