using FuncRerank.Api.Endpoints;
using FuncRerank.Api.Hosting;
using FuncRerank.Functions;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<ErrorReplyMiddleware>();
builder.Services.AddFuncRerank(builder.Configuration);
// With telemetry on (FuncRerankTelemetry), each function invocation is a span too, in the Functions host's trace.
if (FuncRerankTelemetry.IsEnabled(builder.Configuration))
    builder.Services.AddOpenTelemetry().UseFunctionsWorkerDefaults();
builder.Build().Run();
