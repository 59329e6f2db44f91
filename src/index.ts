// The `vela` package. Importing it loads reflect-metadata, which the decorators need.
import 'reflect-metadata';

export { bootstrap, type App, type BootstrapOptions } from './application.js';
export { Module, type ModuleOptions } from './module.js';
export { Inject, Injectable, InjectionToken, type Class, type Token } from './di/token.js';
export type { Provider, ValueProvider, ClassProvider, FactoryProvider } from './di/provider.js';
export { ConfigError } from './errors.js';
export { consoleLogger, LOGGER, type Logger, type LogFields, type LogLevel } from './logger.js';
export {
  Controller,
  Route,
  FallbackController,
  type ControllerOptions,
  type RouteOptions,
  type HttpMethod,
  type Fallback,
} from './http/decorators.js';
export { HttpError, type HttpErrorOptions } from './http/http-error.js';
export {
  json,
  status,
  redirect,
  isTagged,
  type Result,
  type JsonOptions,
  type StatusOptions,
  type RedirectOptions,
  type JsonResult,
  type StatusResult,
  type RedirectResult,
} from './http/results.js';
export { HandlerRegistry, type ResultHandler } from './http/handler-registry.js';
export type { Security, SecurityOutcome } from './http/security.js';
export type { Context, Middleware } from 'koa';
