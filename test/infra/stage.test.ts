/** What production changes: protected data, its own key, longer logs; throttling as configured. */
import { describe, expect, it } from 'vitest';
import { stageSettings } from '../../infra/stage.js';

describe('stageSettings', () => {
  it('protects production data with deletion protection, point-in-time recovery and its own key', () => {
    expect(stageSettings('production', {})).toMatchObject({ production: true, protectData: true, customerManagedKey: true, logRetention: '1 year' });
  });

  it('leaves other stages removable, with the AWS-managed keys unless FHIR_CMK=on', () => {
    expect(stageSettings('dev', {})).toMatchObject({ production: false, protectData: false, customerManagedKey: false, logRetention: '2 weeks' });
    expect(stageSettings('dev', { FHIR_CMK: 'on' }).customerManagedKey).toBe(true);
  });

  it('refuses to turn the key off in production', () => {
    expect(() => stageSettings('production', { FHIR_CMK: 'off' })).toThrow(/production/);
  });

  it('throttles the stage at the configured rate and burst', () => {
    expect(stageSettings('dev', {}).throttle).toEqual({ rate: 500, burst: 1000 });
    expect(stageSettings('dev', { FHIR_THROTTLE_RATE: '50', FHIR_THROTTLE_BURST: '80' }).throttle).toEqual({ rate: 50, burst: 80 });
    expect(() => stageSettings('dev', { FHIR_THROTTLE_RATE: '-1' })).toThrow(/FHIR_THROTTLE_RATE/);
  });

  it('keeps logs for an explicit, known retention', () => {
    expect(stageSettings('dev', { FHIR_LOG_RETENTION: '6 months' }).logRetention).toBe('6 months');
    expect(() => stageSettings('dev', { FHIR_LOG_RETENTION: 'forever' })).toThrow(/FHIR_LOG_RETENTION/);
  });

  it('reads the backend clients\' tenants, refusing an unsafe tenant id at deploy time', () => {
    expect(stageSettings('dev', { FHIR_CLIENT_TENANTS: '{"abc123":"clinic-1"}' }).clientTenants).toEqual({ abc123: 'clinic-1' });
    expect(stageSettings('dev', {}).clientTenants).toEqual({});
    for (const raw of ['{"abc":"a#b"}', '["clinic-1"]', '{"abc":7}', 'not json']) {
      expect(() => stageSettings('dev', { FHIR_CLIENT_TENANTS: raw }), raw).toThrow(/FHIR_CLIENT_TENANTS/);
    }
  });

  it('schedules analytics daily and keeps reports 400 days unless told otherwise', () => {
    expect(stageSettings('dev', {}).analytics).toEqual({ schedule: 'cron(0 3 * * ? *)', reportDays: 400 });
    expect(stageSettings('dev', { FHIR_ANALYTICS_SCHEDULE: 'rate(6 hours)', FHIR_ANALYTICS_REPORT_DAYS: '30' }).analytics).toEqual({ schedule: 'rate(6 hours)', reportDays: 30 });
    expect(stageSettings('dev', { FHIR_ANALYTICS_SCHEDULE: 'off', FHIR_ANALYTICS_REPORT_DAYS: 'forever' }).analytics).toEqual({ schedule: undefined, reportDays: undefined });
    expect(() => stageSettings('dev', { FHIR_ANALYTICS_SCHEDULE: 'daily' })).toThrow(/FHIR_ANALYTICS_SCHEDULE/);
    expect(() => stageSettings('dev', { FHIR_ANALYTICS_REPORT_DAYS: '0' })).toThrow(/FHIR_ANALYTICS_REPORT_DAYS/);
  });
});
