import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { Agent } from "node:https";
import { rootCertificates } from "node:tls";
import type AcmeClient from "acme-client";
import { PloyzError } from "../../model/errors.ts";

/** How this machine reaches its ACME directory (from `ployzd run --acme-*`, kept in machine.json). */
export interface AcmeSettings {
  directory: string;
  /** Extra CA (PEM) trusted for the directory's own HTTPS, beside the system's roots. */
  caPem?: string;
  email?: string;
}

/** A certificate the ACME server issued, with its key and what the gateway shows of it. */
export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  notBefore: string;
  notAfter: string;
  issuer: string;
}

/** An http-01 challenge the gateway must answer while an order is validated. */
export interface Http01Challenge {
  token: string;
  keyAuthorization: string;
}

/** Ordering a certificate failed (the gateway retries later and shows why in `ployzctl routes`). */
export class AcmeOrderError extends PloyzError {
  override readonly code: string = "acme-order-failed";
}

/** The ACME server no longer knows the account (it was reset): register the key again. */
export class AcmeAccountUnknownError extends AcmeOrderError {
  override readonly code: string = "acme-account-unknown";
}

const REQUEST_TIMEOUT_MS = 30_000;
let trustedCa: string | undefined | null = null;

/**
 * acme-client speaks through one process-wide axios instance: give it the trusted roots (the
 * system's plus the configured CA) and a timeout. One ployzd per process, so one setting.
 */
async function useSettings(settings: AcmeSettings): Promise<typeof AcmeClient> {
  // Loaded on first use: most machines never order a certificate, and it is slow to load.
  const acme = (await import("acme-client")).default;
  if (trustedCa === settings.caPem) return acme;
  trustedCa = settings.caPem;
  acme.axios.defaults.httpsAgent = new Agent({ ca: settings.caPem ? [...rootCertificates, settings.caPem] : [...rootCertificates] });
  acme.axios.defaults.timeout = REQUEST_TIMEOUT_MS;
  // acme-client retries a failing request 5 times over a minute; the gateway retries orders itself.
  (acme.axios.defaults as { acmeSettings?: { retryMaxAttempts: number } }).acmeSettings!.retryMaxAttempts = 2;
  return acme;
}

/** A short, stable name for a directory URL: each ACME server gets its own account. */
export function directoryHash(directory: string): string {
  return createHash("sha256").update(directory).digest("hex").slice(0, 16);
}

/** Registers a new account key with the directory (agreeing to its terms); returns key and URL. */
export async function registerAccount(settings: AcmeSettings, keyPem?: string): Promise<{ keyPem: string; accountUrl: string }> {
  const acme = await useSettings(settings);
  const key = keyPem ?? (await acme.crypto.createPrivateEcdsaKey()).toString();
  const client = new acme.Client({ directoryUrl: settings.directory, accountKey: key });
  await client.createAccount({ termsOfServiceAgreed: true, ...(settings.email ? { contact: [`mailto:${settings.email}`] } : {}) });
  return { keyPem: key, accountUrl: client.getAccountUrl() };
}

/**
 * Orders a certificate for one hostname with an http-01 challenge: `publish` must make the
 * gateway answer the challenge before it resolves; `withdraw` is called when validation is over.
 * The certificate key is new for every order and never leaves the returned record.
 */
export async function orderCertificate(input: {
  settings: AcmeSettings;
  account: { keyPem: string; accountUrl: string };
  hostname: string;
  publish: (challenge: Http01Challenge) => Promise<void>;
  withdraw: (challenge: Http01Challenge) => Promise<void>;
}): Promise<IssuedCertificate> {
  const acme = await useSettings(input.settings);
  const client = new acme.Client({ directoryUrl: input.settings.directory, accountKey: input.account.keyPem, accountUrl: input.account.accountUrl });
  const key = await acme.crypto.createPrivateEcdsaKey();
  const [, csr] = await acme.crypto.createCsr({ altNames: [input.hostname] }, key);
  let certPem: string;
  try {
    certPem = await client.auto({
      csr,
      termsOfServiceAgreed: true,
      challengePriority: ["http-01"],
      // The ACME server validates; a self-check would need this machine to resolve the name to itself.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
        if (challenge.type !== "http-01") throw new AcmeOrderError(`the ACME server offers no http-01 challenge for ${input.hostname} (only ${challenge.type})`);
        await input.publish({ token: challenge.token, keyAuthorization });
      },
      challengeRemoveFn: async (_authz, challenge, keyAuthorization) => {
        if (challenge.type === "http-01") await input.withdraw({ token: challenge.token, keyAuthorization });
      },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/account\b.*\b(not found|does not exist)|no account exists/i.test(message)) throw new AcmeAccountUnknownError(message, { cause: error });
    if (error instanceof AcmeOrderError) throw error;
    throw new AcmeOrderError(`ordering a certificate for ${input.hostname} from ${input.settings.directory} failed: ${message}`, { cause: error });
  }
  return { certPem, keyPem: key.toString(), ...describeCertificate(certPem, key.toString()) };
}

/**
 * Validity and issuer of a PEM chain's leaf; throws when the chain does not parse or the key
 * does not belong to it, so a broken record never reaches Caddy (which would refuse the config).
 */
export function describeCertificate(certPem: string, keyPem: string): { notBefore: string; notAfter: string; issuer: string } {
  const leaf = new X509Certificate(certPem);
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) throw new Error("the private key does not belong to the certificate");
  const issuer = leaf.issuer.split("\n").find((line) => line.startsWith("CN="))?.slice(3) ?? leaf.issuer;
  return { notBefore: new Date(leaf.validFrom).toISOString(), notAfter: new Date(leaf.validTo).toISOString(), issuer };
}
