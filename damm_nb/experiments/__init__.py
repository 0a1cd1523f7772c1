"""The experiments: each module runs one study end to end on the library above (`13_denoising` ... `16_brain_synthesis`)."""
