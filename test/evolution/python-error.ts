// Python for the client tests' scripts: `error(f)`, what calling f raised, as [exception name, message].
/** `error(f)` calls f and returns [exception name, message], or ["returned", repr of the result]. */
export const PY_ERROR = `def error(f):
    try:
        r = f()
    except Exception as e:
        return [type(e).__name__, str(e)]
    return ["returned", repr(r)]
`;

/** `error(f)` calls f and returns [exception name, message], or None when it raised nothing. */
export const PY_RAISED = `def error(f):
    try:
        f()
    except Exception as e:
        return [type(e).__name__, str(e)]
    return None
`;
