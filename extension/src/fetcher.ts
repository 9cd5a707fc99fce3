/** The panel's view of the REST API (no JupyterLab imports, so the panel tests run with a fake). */

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

/** GET a route (path segments are encoded one by one) and return its JSON; an error answer throws an
 * ApiError with the server's one-line `error`. */
export type Fetcher = <T = unknown>(
  segments: string[],
  query?: Record<string, string | number | null | undefined>
) => Promise<T>;
