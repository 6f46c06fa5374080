namespace FuncRerank.Api.Contract;

/// <summary>Carries an <see cref="ApiError"/> from wherever a request fails to the handler that writes it.</summary>
public sealed class ApiException(ApiError error) : Exception(error.Message)
{
    public ApiError Error { get; } = error;
}
