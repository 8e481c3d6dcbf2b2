package dev.easel;

/**
 * Token usage as GPT image models report it.
 *
 * @param inputTokens        all input tokens
 * @param outputTokens       all output tokens
 * @param totalTokens        input + output
 * @param inputTextTokens    prompt tokens
 * @param inputImageTokens   tokens of the input images
 * @param outputImageTokens  image output tokens (all output tokens when the provider gave no split)
 * @param outputTextTokens   text output tokens (gpt-image-1.5 and later report these; else 0)
 * @param outputDetailsReported whether the provider split the output tokens itself
 */
public record Usage(long inputTokens, long outputTokens, long totalTokens, long inputTextTokens,
                    long inputImageTokens, long outputImageTokens, long outputTextTokens,
                    boolean outputDetailsReported) {

    /** Usage without an output split: all output tokens count as image tokens. */
    public static Usage of(long inputTextTokens, long inputImageTokens, long outputTokens) {
        long in = inputTextTokens + inputImageTokens;
        return new Usage(in, outputTokens, in + outputTokens, inputTextTokens, inputImageTokens,
                outputTokens, 0, false);
    }
}
