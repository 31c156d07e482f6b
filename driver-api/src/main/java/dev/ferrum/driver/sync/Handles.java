package dev.ferrum.driver.sync;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/** Looks up the {@code static final} VarHandles of this package's classes. */
final class Handles {

    private Handles() {
    }

    /**
     * @param lookup the owner's own lookup ({@code MethodHandles.lookup()} in the owner), for private fields
     * @return the VarHandle of field {@code name} of type {@code type} in the lookup's class
     * @throws ExceptionInInitializerError if the field does not exist (a bug in this package)
     */
    static VarHandle field(MethodHandles.Lookup lookup, String name, Class<?> type) {
        try {
            return lookup.findVarHandle(lookup.lookupClass(), name, type);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
