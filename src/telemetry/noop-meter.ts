// A Meter that records nothing, for an app that registered no OpenTelemetry SDK. The API has one
// (createNoopMeter), but reaching it loads @opentelemetry/api, which such an app should not pay for
// at every cold start (tracer.ts says why the tracing side does not load it either).
import type { Meter, ValueType } from '@opentelemetry/api';

const NOTHING = { add() {}, record() {}, addCallback() {}, removeCallback() {} };
const instrument = () => NOTHING as never;

export const NOOP_METER: Meter = {
  createGauge: instrument,
  createHistogram: instrument,
  createCounter: instrument,
  createUpDownCounter: instrument,
  createObservableGauge: instrument,
  createObservableCounter: instrument,
  createObservableUpDownCounter: instrument,
  addBatchObservableCallback() {},
  removeBatchObservableCallback() {},
};

/** `ValueType.INT` (0), without loading the API for an enum member. */
export const INTEGER = { valueType: 0 as ValueType };
