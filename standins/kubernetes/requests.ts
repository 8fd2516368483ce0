/** One request as the API server (and the chart repository) recorded it, for tests to read. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  contentType: string | undefined;
  userAgent: string | undefined;
  /** JSON text; protobuf bodies decoded to JSON. */
  body: string;
  /** performance.now() when it arrived: the stand-ins of one process share this clock, so their logs interleave. */
  at?: number;
}

/** What the router answers one request with, before it is written. */
export interface Answer {
  status: number;
  body: unknown;
  contentType?: string;
  /** Further response headers (discovery's and OpenAPI's caching headers, a redirect's Location). */
  headers?: Record<string, string>;
}
