using FuncRerank.Api.Endpoints;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddFuncRerank(builder.Configuration);
builder.Build().Run();
