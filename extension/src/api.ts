/** The REST API under `<base_url>/llmops/api/` (ServerConnection sends the token and XSRF header). */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { ApiError, Fetcher, PostBody } from './fetcher';
import { apiPath } from './paths';

export { ApiError, Fetcher };

export function makeFetcher(settings: ServerConnection.ISettings = ServerConnection.makeSettings()): Fetcher {
  return async <T>(
    segments: string[],
    query?: Record<string, string | number | null | undefined>,
    post?: PostBody
  ): Promise<T> => {
    const url = URLExt.join(settings.baseUrl, 'llmops/api') + apiPath(segments, query);
    // ServerConnection adds the token and, for a POST, the XSRF header
    const init: RequestInit = post
      ? { method: 'POST', body: JSON.stringify(post.body ?? {}), headers: { 'Content-Type': 'application/json' } }
      : { method: 'GET' };
    let resp: Response;
    try {
      resp = await ServerConnection.makeRequest(url, init, settings);
    } catch (e) {
      throw new ApiError(`cannot reach the server: ${(e as Error).message || e}`, 0);
    }
    let body: unknown = null;
    try {
      body = await resp.json();
    } catch {
      body = null;
    }
    if (!resp.ok) {
      const err = body && typeof body === 'object' && 'error' in body ? String((body as { error: unknown }).error) : '';
      throw new ApiError(err || `${resp.status} ${resp.statusText}`, resp.status);
    }
    return body as T;
  };
}
