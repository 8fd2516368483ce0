/** A JSON object as a request body carries it. */
export type Json = Record<string, unknown>;

/** One request as the stand-in saw it, so tests can count reads and writes. */
export interface LoggedRequest {
  method: string;
  /** Without the query string, e.g. /compute/v1/projects/p/zones/z/disks/d. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** performance.now() when it arrived: the stand-ins of one process share this clock, so their logs interleave. */
  at?: number;
}

/** One API call as a route sees it. */
export interface ApiCall {
  /** The route's pattern matched against the resource path (projects/P/...): its captures. */
  match: RegExpExecArray;
  body: Json;
  method: string;
  /** The whole path (/compute/v1/projects/...): faults match on it, operations take the project from it. */
  urlPath: string;
  query: Record<string, string>;
}

/** Answers with the JSON it returns, or throws an ApiError for Google's error body. */
export type Handler = (call: ApiCall) => unknown;
export type Route = [method: string, pattern: RegExp, handler: Handler];

/** The pattern of a zonal or regional path, capturing the project and the scope (zones/Z or regions/R). */
export const ZONAL_OR_REGIONAL = String.raw`^projects\/([^/]+)\/((?:zones|regions)\/[^/]+)`;
