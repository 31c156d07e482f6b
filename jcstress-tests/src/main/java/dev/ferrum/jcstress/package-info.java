/**
 * jcstress tests of the driver API's concurrency primitives. Each test states, with {@code @Outcome}, every result
 * the primitive's contract allows; everything else is {@code FORBIDDEN}, so a race that breaks the contract fails
 * the run ({@code ./ferrum jcstress}).
 */
package dev.ferrum.jcstress;
