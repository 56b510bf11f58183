import { capabilityStatement } from '../core/fhir/capability.js';
import { publicFhirHandler } from './lib/fhir-handler.js';
import { baseUrlOf, jsonResponse } from './lib/http.js';

/** GET /metadata */
export const handler = publicFhirHandler(async (event) => jsonResponse(200, capabilityStatement(baseUrlOf(event))));
