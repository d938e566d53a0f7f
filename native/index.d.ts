export declare const abiVersion: number;
