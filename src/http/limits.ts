/**
 * Every cap of the HTTP listener, with the reason it exists. The listener
 * serves Prometheus scrapes, health probes and a few admin calls; none of
 * them sends a body worth the name, so the caps are small.
 */
export interface HttpLimits {
  /** No route reads a request body; a body past this is refused (413) and the connection closed. */
  maxBodyBytes: number;
  /** Request line plus headers (431 past it). A bearer token and a handful of headers fit many times over. */
  maxHeaderBytes: number;
  /** A client must finish a request's headers within this of connecting, or of the previous response (slowloris). */
  headersTimeoutMs: number;
  /** …and then its body within this. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** A connection with no traffic at all (a half-open or vanished peer) is destroyed after this. */
  idleSocketTimeoutMs: number;
  /** Open connections at once: this port is for scrapers and operators, not the public. */
  maxConnections: number;
  /** On stop, requests in progress get this long to finish before every connection is cut. */
  shutdownGraceMs: number;
}

export const HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxBodyBytes: 16 * 1024,
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleSocketTimeoutMs: 60_000,
  maxConnections: 256,
  shutdownGraceMs: 2_000,
});
