// The module resolution hook of bench/telemetry.mjs's servers (registered by bench/telemetry-variant.mjs):
// in the `none` variant, 'vela' is the baseline's dist/index.js, for the server script and the compiled
// bench apps alike, so that the whole process runs the Vela built before telemetry. In the other
// variants it changes nothing (it is registered there too, so that all three run the same loader).
let vela;

export function initialize(data) {
  vela = data?.vela ?? undefined;
}

export function resolve(specifier, context, next) {
  if (vela && specifier === 'vela') return { url: vela, shortCircuit: true };
  if (vela && specifier.startsWith('vela/')) {
    // A subpath would come from this checkout, not the baseline: a mixed process measures nothing.
    throw new Error(`bench/telemetry-resolve.mjs: the none variant maps only 'vela' to the baseline; ${specifier} (imported by ${context.parentURL}) is not mapped`);
  }
  return next(specifier, context);
}
