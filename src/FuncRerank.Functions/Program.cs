using FuncRerank.Api.Endpoints;
using FuncRerank.Functions;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<ErrorReplyMiddleware>();
builder.Services.AddFuncRerank(builder.Configuration);
builder.Build().Run();
