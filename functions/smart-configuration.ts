import type { APIGatewayProxyResult } from 'aws-lambda';
import { smartConfiguration } from '../core/auth/smart-configuration.js';
import { loadAuthConfig } from '../core/config.js';

const body = JSON.stringify(smartConfiguration(loadAuthConfig().oauth));

/** GET /.well-known/smart-configuration: public, like /metadata; plain JSON, as SMART specifies. */
export async function handler(): Promise<APIGatewayProxyResult> {
  return { statusCode: 200, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600' }, body };
}
