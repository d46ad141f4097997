// The whole public flow through a TypeScript client generated from openapi.yaml: the types of
// openapi-typescript (generated/schema.d.ts, made anew by every test run) and openapi-fetch's
// typed `fetch`, compiled with `tsc --strict`. Run by
// tests/integration/generated_client/test_typescript_client.py against the live server.
//
// What a person would type in (a code from the authenticator app or from the mail) is asked of
// the test harness on stdout, one JSON line, and answered on stdin; waiting out a cooldown is
// asked the same way (the server under test keeps a clock the harness moves).
import * as readline from "node:readline";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Principal = components["schemas"]["PrincipalResponse"];

function setting(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} must be set`);
  }
  return value;
}

const baseUrl = setting("TWOFACTOR_API_URL");
const password = setting("TWOFACTOR_PASSWORD");
const email = `ts-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.com`;

const api = createClient<paths>({ baseUrl });

const answers = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function ask(question: Record<string, string | number>): Promise<string> {
  process.stdout.write(`${JSON.stringify({ ask: question })}\n`);
  const answer = await answers.next();
  if (answer.done) {
    throw new Error("the harness closed stdin before answering");
  }
  return answer.value;
}

function step(name: string): void {
  process.stdout.write(`${JSON.stringify({ step: name })}\n`);
}

function check(condition: boolean, what: string, seen?: unknown): asserts condition {
  if (!condition) {
    throw new Error(`${what}; seen: ${JSON.stringify(seen)}`);
  }
}

/** A problem body's typed `code`, checked with the status it came with. */
function expectProblem(
  result: { error?: { code: string } | string; response: Response },
  status: number,
  code: string,
): void {
  const body = result.error;
  check(result.response.status === status, `expected ${status} ${code}`, body);
  check(typeof body === "object" && body.code === code, `expected the code ${code}`, body);
}

function bearer(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}

const mailed = { count: 0, cooldown: 0 };

async function sendEmailCode(headers: Record<string, string>, pending?: string): Promise<string> {
  if (mailed.count > 0) {
    await ask({ wait: mailed.cooldown });
  }
  const sent = await api.POST("/auth/2fa/email/send", {
    headers,
    params: { header: pending ? { "X-Two-Factor-Authentication-Token": pending } : {} },
  });
  check(sent.data !== undefined, "an email code is sent", sent.error);
  mailed.count += 1;
  mailed.cooldown = sent.data.cooldown;
  return ask({ emailCode: email, count: mailed.count });
}

/** A step-up token: the password, then the second factor the answer asks for. */
async function stepUp(access: string, totpSecret: string): Promise<string> {
  const first = await api.POST("/auth/step-up", { headers: bearer(access), body: { password } });
  check(first.data !== undefined, "the password step-up answers", first.error);
  if (!first.data.twoFactorRequired) {
    check(first.data.stepUpToken !== undefined, "a step-up token", first.data);
    return first.data.stepUpToken;
  }
  const pending = first.data.twoFactorToken;
  check(pending !== undefined, "a pending 2FA token", first.data);
  const proof = first.data.twoFactorMethods?.includes("totp")
    ? { totp: await ask({ totp: totpSecret }) }
    : { email: await sendEmailCode(bearer(access), pending) };
  const second = await api.POST("/auth/2fa/step-up", {
    headers: bearer(access),
    params: { header: { "X-Two-Factor-Authentication-Token": pending } },
    body: proof,
  });
  check(second.data?.stepUpToken !== undefined, "a step-up token after the 2FA proof", second);
  return second.data.stepUpToken;
}

async function signInPending(): Promise<string> {
  const pending = await api.POST("/auth/login", { body: { email, password } });
  check(pending.data?.twoFactorRequired === true, "sign-in asks for a second factor", pending);
  check(pending.data.twoFactorToken !== undefined, "a pending 2FA token", pending.data);
  return pending.data.twoFactorToken;
}

function methodsOf(principal: Principal): string {
  return [...principal.twoFactorMethods].sort().join(",");
}

async function main(): Promise<void> {
  step("register");
  const registration = { email, password, name: "Ada Lovelace" };
  const registered = await api.POST("/auth/register", { body: registration });
  check(registered.data !== undefined, "registered", registered.error);
  const id = registered.data.id;
  expectProblem(
    await api.POST("/auth/register", { body: registration }),
    409,
    "EMAIL_ALREADY_REGISTERED",
  );

  step("login");
  const signed = await api.POST("/auth/login", { body: { email, password } });
  check(signed.data?.accessToken !== undefined, "signed in without 2FA", signed);
  let access = signed.data.accessToken;

  step("TOTP setup");
  let stepUpToken = await stepUp(access, "");
  const setup = await api.GET("/auth/2fa/totp/setup", {
    headers: bearer(access),
    params: { header: { "X-Step-Up-Token": stepUpToken } },
  });
  check(setup.data !== undefined, "a TOTP setup", setup.error);
  const { secret, recoveryCodes } = setup.data;
  const enabled = await api.POST("/auth/2fa/totp/setup", {
    headers: bearer(access),
    params: { header: { "X-Step-Up-Token": stepUpToken } },
    body: { token: setup.data.token, code: await ask({ totp: secret }) },
  });
  check(enabled.data !== undefined && methodsOf(enabled.data) === "totp", "TOTP on", enabled);

  step("2FA login");
  const pending = await signInPending();
  const second = await api.POST("/auth/2fa/login", {
    params: { header: { "X-Two-Factor-Authentication-Token": pending } },
    body: { totp: await ask({ totp: secret }) },
  });
  check(second.data?.accessToken !== undefined, "signed in with TOTP", second);
  access = second.data.accessToken;

  step("email codes");
  stepUpToken = await stepUp(access, secret);
  const code = await sendEmailCode(bearer(access));
  expectProblem(
    await api.POST("/auth/2fa/email/enable", {
      headers: bearer(access),
      params: { header: { "X-Step-Up-Token": stepUpToken } },
      body: { code: code === "000000" ? "000001" : "000000" },
    }),
    400,
    "INVALID_TWO_FACTOR_CODE",
  );
  const emailOn = await api.POST("/auth/2fa/email/enable", {
    headers: bearer(access),
    params: { header: { "X-Step-Up-Token": stepUpToken } },
    body: { code },
  });
  check(emailOn.data !== undefined && methodsOf(emailOn.data) === "email,totp", "email on", emailOn);

  step("recovery");
  const recovered = await api.POST("/auth/2fa/totp/recover", {
    params: { header: { "X-Two-Factor-Authentication-Token": await signInPending() } },
    body: { code: recoveryCodes[0] ?? "" },
  });
  check(recovered.data !== undefined, "recovered with a recovery code", recovered.error);
  access = recovered.data.accessToken;

  step("the core operation");
  expectProblem(
    await api.DELETE("/auth/2fa/totp", { headers: bearer(access) }),
    401,
    "STEP_UP_TOKEN_MISSING",
  );
  expectProblem(
    await api.DELETE("/auth/2fa/totp", {
      headers: bearer(access),
      params: { query: { locale: "x".repeat(40) }, header: { "X-Step-Up-Token": recovered.data.stepUpToken } },
    }),
    400,
    "INVALID_REQUEST",
  );
  const disabled = await api.DELETE("/auth/2fa/totp", {
    headers: bearer(access),
    params: { query: { locale: "de-DE" }, header: { "X-Step-Up-Token": recovered.data.stepUpToken } },
  });
  check(disabled.data !== undefined && methodsOf(disabled.data) === "email", "TOTP off", disabled);
  const again = await api.DELETE("/auth/2fa/totp", {
    headers: bearer(access),
    params: { header: { "X-Step-Up-Token": await stepUp(access, secret) } },
  });
  check(again.response.status === 304, "304 once TOTP is off", again.error);
  const errorCode = again.response.headers.get("X-Error-Code");
  check(errorCode === "TWO_FACTOR_METHOD_ALREADY_DISABLED", "the 304's code", errorCode);

  step("a guest");
  const guest = await api.POST("/guests", { body: { name: "Guest" } });
  check(guest.data !== undefined, "a guest", guest.error);
  const guestStepUp = await api.POST("/auth/step-up", { headers: bearer(guest.data.accessToken) });
  check(guestStepUp.data?.stepUpToken !== undefined, "a guest's step-up", guestStepUp);
  expectProblem(
    await api.DELETE("/auth/2fa/totp", {
      headers: bearer(guest.data.accessToken),
      params: { header: { "X-Step-Up-Token": guestStepUp.data.stepUpToken } },
    }),
    404,
    "USER_NOT_FOUND",
  );

  step("logout");
  const loggedOut = await api.POST("/auth/logout", { headers: bearer(access) });
  check(loggedOut.response.status === 204, "logged out", loggedOut.error);
  expectProblem(
    await api.DELETE("/auth/2fa/totp", { headers: bearer(access) }),
    401,
    "ACCESS_TOKEN_EXPIRED",
  );
  process.stdout.write(`${JSON.stringify({ done: { email, id } })}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
