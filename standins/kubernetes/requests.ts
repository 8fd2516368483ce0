/** One request as the API server (and the chart repository) recorded it, for tests to read. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  contentType: string | undefined;
  userAgent: string | undefined;
  /** JSON text; protobuf bodies decoded to JSON. */
  body: string;
}
