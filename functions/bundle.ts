import { processBundle } from '../core/fhir/batch.js';
import { fhirHandler, logger } from './lib/fhir-handler.js';
import { baseUrlOf, jsonResponse, parseJsonBody, preferences } from './lib/http.js';

/** POST / with a batch or transaction Bundle: 200 with the batch-response or transaction-response. */
export const handler = fhirHandler(async (event, context) => {
  const body = parseJsonBody(event, 'resource', context.config.maxRequestBytes);
  const prefer = preferences(event);
  const response = await processBundle(
    context,
    body,
    {
      baseUrl: baseUrlOf(event),
      return: prefer.return,
      strict: prefer.handling === 'strict',
      defaultCount: context.config.defaultPageSize,
      maxCount: context.config.maxPageSize,
    },
    (error, index) => logger.error('batch entry failed', { error, entry: index }),
  );
  return jsonResponse(200, response);
});
