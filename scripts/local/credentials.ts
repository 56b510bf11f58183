/**
 * What the local emulators (DynamoDB Local, fauxqs) are signed with: they accept any credentials
 * and region, but the SDK needs some to sign with.
 */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** The local credentials as environment variables for the SDK's default chain, unless `env` has credentials of its own. */
export function localCredentialsEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return env.AWS_ACCESS_KEY_ID ? {} : { AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey };
}
