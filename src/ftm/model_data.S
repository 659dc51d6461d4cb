/* The compiled FtM model JSON, embedded at build time (path from CMake). */
    .section .rodata
    .global lh__model_json
    .type lh__model_json, @object
    .balign 16
lh__model_json:
    .incbin LH_MODEL_JSON_PATH
    .global lh__model_json_end
lh__model_json_end:
    .byte 0
    .section .note.GNU-stack,"",@progbits
