// bootstrap({ metrics: { path } }): Prometheus text at the app's own port, off unless asked for,
// behind a security function like a route's; the options refused at bootstrap with what to fix.
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { describe, expect, it } from 'vitest';
import { ConfigError, Controller, Module, Route, WebSocket, bootstrap, json, type Context } from 'vela';
import { startTestApp } from 'vela/testing';
import { ownPrometheus } from '../../src/telemetry/prometheus.js';

@Controller({ prefix: '/api' })
class ApiController {
  @Route('/users/:id')
  show(ctx: Context) {
    return json({ id: ctx.params.id });
  }
}

@WebSocket('/rooms/:room')
class RoomGateway {}

@Module({ controllers: [ApiController], gateways: [RoomGateway] })
class AppModule {}

/** The sample lines of `text` for `name`, as `{labels} value` strings. */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`));
}

describe('bootstrap({ metrics: { path } })', () => {
  it('serves Vela\'s metrics as Prometheus text at that path, from a provider of its own', async () => {
    const app = await startTestApp(AppModule, { metrics: { path: '/metrics' } });
    await app.http.get('/api/users/1');
    await app.http.get('/api/users/2');
    await app.ws('/rooms/kitchen');

    const res = await app.http.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('# TYPE http_server_request_duration histogram');
    const [count] = samples(text, 'http_server_request_duration_count').filter((line) => line.includes('http_route="/api/users/:id"'));
    expect(count).toMatch(/http_request_method="GET".*http_response_status_code="200".* 2$/);
    expect(samples(text, 'vela_websocket_connections')).toEqual([
      expect.stringMatching(/^vela_websocket_connections\{vela_gateway="\/rooms\/:room",otel_scope_name="vela",otel_scope_version="\d+\.\d+\.\d+"\} 1$/),
    ]);
    // The scrape is a request too, under its own path.
    const again = await (await app.http.get('/metrics')).text();
    expect(samples(again, 'http_server_request_duration_count').some((line) => line.includes('http_route="/metrics"'))).toBe(true);
  });

  it('is off unless asked for', async () => {
    const app = await startTestApp(AppModule);
    expect((await app.http.get('/metrics')).status).toBe(404);
  });

  it("asks the scraper for what `security` wants, as a route's security function does", async () => {
    const token = (ctx: Context) => ctx.get('authorization') === 'Bearer s3cret';
    const app = await startTestApp(AppModule, { metrics: { path: '/internal/metrics', security: token } });
    expect((await app.http.get('/internal/metrics')).status).toBe(401);
    const res = await app.http.get('/internal/metrics', { headers: { authorization: 'Bearer s3cret' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('http_server_request_duration');
  });

  it('answers 405 with Allow to a method other than GET or HEAD', async () => {
    const app = await startTestApp(AppModule, { metrics: { path: '/metrics' } });
    const res = await app.http.post('/metrics', {});
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  it("serves the app's own PrometheusExporter, given as exporter, with its own instruments beside Vela's", async () => {
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const meterProvider = new MeterProvider({ readers: [exporter] });
    meterProvider.getMeter('blog').createCounter('blog.comments').add(3);
    const app = await startTestApp(AppModule, { metrics: { path: '/metrics', exporter, meterProvider } });
    await app.ws('/rooms/kitchen');
    const text = await (await app.http.get('/metrics')).text();
    expect(samples(text, 'blog_comments_total')).toEqual(['blog_comments_total{otel_scope_name="blog"} 3']);
    expect(samples(text, 'vela_websocket_connections')).toHaveLength(1);
    await meterProvider.shutdown();
  });
});

describe('bootstrap({ metrics }) refuses', () => {
  const cases: [string, unknown, string][] = [
    ['a path that is not one', { path: 'metrics' }, "bootstrap({ metrics: { path } }) is 'metrics': give a path that starts with '/', e.g. '/metrics'."],
    ['an unknown option', { path: '/metrics', port: 9464 }, "bootstrap({ metrics }) has unknown option 'port': it takes path, security, exporter, meterProvider."],
    ['security without a path', { security: () => true }, "bootstrap({ metrics: { security } }) belongs to the scrape endpoint: give its path too, e.g. path: '/metrics'."],
    ['a security that is not a function', { path: '/metrics', security: 'token' }, "bootstrap({ metrics: { security } }) is 'token': give false (public) or a function (ctx) => boolean | Result | object, as on a route."],
    ['an exporter that is not one', { path: '/metrics', exporter: {} }, 'bootstrap({ metrics: { exporter } }) is {}: give a PrometheusExporter from @opentelemetry/exporter-prometheus.'],
    [
      'a provider it cannot serve',
      { path: '/metrics', meterProvider: new MeterProvider() },
      "bootstrap({ metrics: { path, meterProvider } }): Vela cannot read a provider it did not make. Register a PrometheusExporter on it (readers: [exporter]) and give it as metrics.exporter, or leave meterProvider out for Vela's own.",
    ],
    ['the path of a route', { path: '/api/users/:id' }, "bootstrap({ metrics: { path: '/api/users/:id' } }) is also the path of ApiController.show: serve the metrics at another path."],
    ['the path of a gateway', { path: '/rooms/:room' }, "bootstrap({ metrics: { path: '/rooms/:room' } }) is also the path of the gateway RoomGateway: serve the metrics at another path."],
  ];
  it.each(cases)('%s', async (_, metrics, message) => {
    const booting = bootstrap(AppModule, { port: 0, host: '127.0.0.1', metrics: metrics as never, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    await expect(booting).rejects.toThrow(ConfigError);
    await expect(booting).rejects.toThrow(message);
  });

  it('names the npm install to run when the SDK packages are missing', async () => {
    const missing = () => import('@opentelemetry/no-such-package' as string);
    const error = await ownPrometheus(missing).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /^bootstrap\(\{ metrics: \{ path \} \}\) serves Prometheus text through @opentelemetry\/sdk-metrics and @opentelemetry\/exporter-prometheus, optional peer dependencies of vela that are not installed \(.*no-such-package.*\): run `npm install @opentelemetry\/sdk-metrics@\^3 @opentelemetry\/exporter-prometheus@\^0\.301`\.$/,
    );
  });
});
