// Errors Vela raises about the application itself (not about a request): thrown at bootstrap so a
// misconfigured app never starts serving. Messages name the class, the member and the fix.

export class ConfigError extends Error {
  override name = 'ConfigError';
}
