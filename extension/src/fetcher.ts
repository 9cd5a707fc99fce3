/** The panel's view of the REST API (no JupyterLab imports, so the panel tests run with a fake). */

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

/** A write: the only one is `POST monitor` (runs a report now). */
export interface PostBody {
  method: 'POST';
  body: unknown;
}

/** GET a route (path segments are encoded one by one), or POST a JSON body to it with `post`, and return its
 * JSON; an error answer throws an ApiError with the server's one-line `error`. */
export type Fetcher = <T = unknown>(
  segments: string[],
  query?: Record<string, string | number | null | undefined>,
  post?: PostBody
) => Promise<T>;
