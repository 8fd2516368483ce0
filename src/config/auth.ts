import { InputError } from '../lib/errors.js';
import { matches, subdomain, type Inputs } from './fields.js';
import type { Mode } from './mode.js';

/** The server's basic authentication: a password the action hashes, or an existing htpasswd Secret. */
export interface AuthConfig {
  username: string;
  password: string | undefined;
  authSecret: string | undefined;
}

export function parseAuthConfig(inputs: Inputs, mode: Mode): AuthConfig {
  const username = inputs.get('web-username') || 'skypilot';
  matches(
    'web-username',
    username,
    /^[A-Za-z0-9._@+-]{1,64}$/,
    'letters, digits and . _ @ + - (no colon: htpasswd uses it)',
  );
  const password = inputs.raw('web-password') || undefined;
  if (password !== undefined && /[\r\n]/.test(password)) {
    throw new InputError('web-password', 'contains a line break', 'Use a single-line password');
  }
  const authSecret = inputs.opt('auth-secret');
  if (authSecret !== undefined) subdomain('auth-secret', authSecret);
  if (password === undefined && authSecret === undefined && mode !== 'plan') {
    throw new InputError(
      'web-password',
      'is required unless auth-secret is given',
      'Without either, the API server would be deployed with no authentication. Pass a repository secret',
    );
  }
  if (password !== undefined && authSecret !== undefined) {
    throw new InputError(
      'auth-secret',
      'cannot be combined with web-password',
      'Give one way of authenticating, not both',
    );
  }
  return { username, password, authSecret };
}
