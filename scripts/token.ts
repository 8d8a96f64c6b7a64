/**
 * `npm run token -- <role> [sub] [channel]`: a bearer token for the `npm start` stack (its
 * development secret, or AUTH_JWT_SECRET), valid for AUTH_TOKEN_MAX_LIFETIME; a channel's token
 * speaks for `channel` (`web` unless named). Without arguments, one per role.
 * `npm run token -- codec [sub]`: a support token for the codec server alone (scope `codec`), the
 * one to put in a Web UI's codec endpoint path (`--ui-codec-endpoint http://api/codec/<token>`).
 */
import { signToken } from '../api/auth';
import { loadConfigOrExit, type Config } from '../config';
import { developmentSecret } from '../devstack/dev-secret';
import { ROLES, type Role } from '../domain/roles';

/** A token for `role` as `sub`, signed as the stack's API checks it. */
export function devToken(
  config: Config,
  role: Role,
  sub = `dev-${role}`,
  channel?: string,
  scope?: 'codec',
): string {
  return signToken(developmentSecret(config), sub, role, {
    ...(role === 'channel' || channel ? { channel: channel ?? 'web' } : {}),
    ...(scope ? { scope } : {}),
    expiresIn: Math.floor(config.AUTH_TOKEN_MAX_LIFETIME / 1000),
    issuer: config.AUTH_JWT_ISSUER,
    audience: config.AUTH_JWT_AUDIENCE,
  });
}

export function devTokens(config: Config): string[] {
  return ROLES.map((role) => `  ${role.padEnd(9)} ${devToken(config, role)}`);
}

if (require.main === module) {
  const config = loadConfigOrExit();
  const [role, sub, channel] = process.argv.slice(2);
  if (role === 'codec') {
    console.log(devToken(config, 'support', sub ?? 'codec', undefined, 'codec'));
    process.exit(0);
  }
  if (role && !ROLES.includes(role as Role)) {
    console.error(`role must be one of ${ROLES.join(', ')}, or codec`);
    process.exit(2);
  }
  console.log(role ? devToken(config, role as Role, sub, channel) : devTokens(config).join('\n'));
}
