package dev.easel.langchain4j;

import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.ConnectionException;
import dev.easel.ContentPolicyViolationException;
import dev.easel.EaselException;
import dev.easel.InternalServerException;
import dev.easel.NotFoundException;
import dev.easel.PermissionDeniedException;
import dev.easel.RateLimitException;
import dev.easel.TimeoutException;
import dev.easel.UnprocessableEntityException;
import dev.langchain4j.exception.ContentFilteredException;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.LangChain4jException;
import dev.langchain4j.exception.ModelNotFoundException;
import dev.langchain4j.exception.NonRetriableException;
import dev.langchain4j.exception.RetriableException;

/**
 * The one place Easel's exceptions become LangChain4j's, by what the caller should do (as LangChain4j maps HTTP
 * statuses: 401/403 authentication, 404 model not found, 408 timeout, 429 rate limit, other 4xx invalid request,
 * 5xx internal server error). Easel's exception is the cause, so its type, code and param stay readable.
 */
final class Exceptions {

    private Exceptions() {
    }

    static LangChain4jException toLangChain4j(EaselException e) {
        String m = e.getMessage();
        return switch (e) {
            case ContentPolicyViolationException x -> new ContentFilteredException(m, x);
            case BadRequestException x -> new InvalidRequestException(m, x);
            case UnprocessableEntityException x -> new InvalidRequestException(m, x);
            case AuthenticationException x -> new dev.langchain4j.exception.AuthenticationException(m, x);
            case PermissionDeniedException x -> new dev.langchain4j.exception.AuthenticationException(m, x);
            case NotFoundException x -> new ModelNotFoundException(m, x);
            case RateLimitException x -> new dev.langchain4j.exception.RateLimitException(m, x);
            case TimeoutException x -> new dev.langchain4j.exception.TimeoutException(m, x);
            case InternalServerException x -> new dev.langchain4j.exception.InternalServerException(m, x);
            case ConnectionException x -> new RetriableException(m, x);
            default -> e.retryable() ? new RetriableException(m, e) : new NonRetriableException(m, e);
        };
    }
}
