/**
 * The search conformance suite against the DynamoDB engine, the embedded default: the local API
 * (real handlers) over DynamoDB Local. Strongly consistent, so no wait after loading.
 */
import { useLocalApi } from '../support/local-api.js';
import { runSearchConformance } from './conformance.js';

runSearchConformance('DynamoDB engine', useLocalApi());
