import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** An answer of the token endpoint: status and JSON body. */
export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * The STS token exchange of workload identity federation (subject token in, access token out), and the
 * external_account credentials file that points a Google client at it. The API accepts the tokens issued here.
 */
export class TokenExchange {
  /** An access token the API accepts, for tests that hand the client an OAuth2Client. */
  readonly accessToken = `standin-${randomBytes(12).toString('hex')}`;
  private readonly tokens = new Set([this.accessToken]);
  private count = 0;

  /** Exchanges seen (their bodies are credentials: they are counted, never logged). */
  exchanges(): number {
    return this.count;
  }

  /** Whether an Authorization header carries a token this stand-in issued. */
  accepts(authorization: string | undefined): boolean {
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    return token !== undefined && this.tokens.has(token);
  }

  exchange(form: URLSearchParams): TokenAnswer {
    this.count++;
    if (
      form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange' ||
      !form.get('subject_token')
    ) {
      return {
        status: 400,
        body: { error: 'invalid_request', error_description: 'grant_type and subject_token are required' },
      };
    }
    const issued = `sts-${randomBytes(16).toString('hex')}`;
    this.tokens.add(issued);
    return {
      status: 200,
      body: {
        access_token: issued,
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        token_type: 'Bearer',
        expires_in: 3600,
      },
    };
  }
}

/** Writes a GitHub OIDC token stand-in and an external_account file whose token_url is `tokenUrl`; returns its path. */
export function writeExternalAccountCredentials(dir: string, tokenUrl: string): string {
  const subjectToken = path.join(dir, 'github-oidc-token.jwt');
  // The STS stand-in accepts any non-empty subject token.
  fs.writeFileSync(
    subjectToken,
    `eyJhbGciOiJub25lIn0.${Buffer.from('{"sub":"repo:o/r"}').toString('base64url')}.`,
    { mode: 0o600 },
  );
  const file = path.join(dir, 'external-account.json');
  const credentials = {
    type: 'external_account',
    audience:
      '//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/github/providers/github',
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: tokenUrl,
    credential_source: { file: subjectToken },
  };
  fs.writeFileSync(file, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  return file;
}
