// etcd password authentication for the gateway client: one token at a time, renewed by one authentication that concurrent calls share.
import { z } from "zod";
import { FleetError, FleetRefusedError, refusedForGood } from "../errors.ts";
import { readRegularFile } from "../util/regular-file.ts";

/**
 * Authenticating at one member failed with no verdict on the credentials (HTTP 5xx or 429, no answer,
 * an answer without a token). The call's own request was not sent: any call goes on at the next member.
 */
export class AuthUnavailable extends Error {}

const authResponse = z.object({ token: z.string() }).passthrough();

/** fetch options for a request to etcd carrying `token` (null: none). */
type InitFor = (body: unknown, signal: AbortSignal, token: string | null) => RequestInit;

export class EtcdAuth {
  private current: string | null = null;
  /** The authentication in flight: one at a time, every call that needs a token meanwhile waits for it. */
  private inFlight: Promise<string> | null = null;

  constructor(
    private readonly auth: { user: string; password_file: string },
    private readonly initFor: InitFor,
  ) {}

  /** The token requests carry now (null: none yet). */
  get token(): string | null {
    return this.current;
  }

  /**
   * The token for the next request: the current one unless there is none or it is `stale` (refused
   * with 401); then one authentication at `endpoint`, shared by every call that needs it meanwhile.
   * The old token stays in use until the new one arrives: it was cleared first, so concurrent
   * watches went without one and concurrent calls each sent their own authentication.
   */
  tokenFor(endpoint: string, signal: AbortSignal, stale: string | null): Promise<string> {
    if (this.current !== null && this.current !== stale) return Promise.resolve(this.current);
    this.inFlight ??= this.authenticate(endpoint, signal).finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /**
   * Throws FleetRefusedError when the member refused the credentials (4xx but 429), AuthUnavailable
   * when it gave no verdict (it was a final FleetError: a member without a leader, answering 503,
   * failed the call without trying the next), FleetError when the password file cannot be read.
   */
  private async authenticate(endpoint: string, signal: AbortSignal): Promise<string> {
    const a = this.auth;
    let password: string;
    try {
      password = readRegularFile(a.password_file).toString("utf8").replace(/\r?\n$/, "");
    } catch (e) {
      throw new FleetError(`fleet.auth.password_file: cannot read ${a.password_file}: ${String(e).slice(0, 200)}`, { cause: e });
    }
    let r: Response;
    let text: string;
    try {
      r = await fetch(`${endpoint}/v3/auth/authenticate`, this.initFor({ name: a.user, password }, signal, null));
      text = await r.text();
    } catch (e) {
      throw new AuthUnavailable(`etcd authentication at ${endpoint}: ${String(e).slice(0, 200)}`, { cause: e });
    }
    if (!r.ok) {
      const msg = `etcd authentication as ${a.user} at ${endpoint} failed: HTTP ${r.status} ${text.slice(0, 200)}`;
      // A member without a leader (503), overloaded (429) or behind a failing proxy (502) says nothing of the credentials.
      throw refusedForGood(r.status) ? new FleetRefusedError(msg, r.status) : new AuthUnavailable(msg);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const t = authResponse.safeParse(json);
    if (!t.success) throw new AuthUnavailable(`etcd authentication at ${endpoint}: an answer with no token: ${text.slice(0, 200)}`);
    this.current = t.data.token;
    return t.data.token;
  }
}
